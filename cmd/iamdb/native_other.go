//go:build !unix

package main

import "io/fs"

// fileOwner reports no owner: files have none that native-setup could keep here.
func fileOwner(fs.FileInfo) (uid, gid int, ok bool) { return 0, 0, false }
