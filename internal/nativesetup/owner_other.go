//go:build !unix

package nativesetup

import "io/fs"

// FileOwner reports no owner: files have none that native-setup could keep here.
func FileOwner(fs.FileInfo) (uid, gid int, ok bool) { return 0, 0, false }
