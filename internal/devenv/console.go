package devenv

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/server"
)

// consolePassword gives the account's admin a console password the first time, written
// to file (0600) beside the admin's credentials, and returns it; "" when file exists
// already (the password was set and printed before). The password is set through the
// IAM service as the admin itself (CreateLoginProfile, or UpdateLoginProfile when the
// file was removed but the profile not).
func consolePassword(ctx context.Context, srv *server.Server, cfg *server.Config, file string) (string, error) {
	if _, err := os.Stat(file); err == nil {
		return "", nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("dev: %w", err)
	}
	akid, _, err := server.ReadAdminKeyFile(cfg.Path(cfg.Bootstrap.AdminKeyFile))
	if err != nil {
		return "", fmt.Errorf("dev: the admin's key: %w", err)
	}
	svc := srv.IAM()
	k, err := svc.LookupKey(ctx, akid, "")
	if err != nil {
		return "", fmt.Errorf("dev: the admin's key: %w", err)
	}
	pw := newConsolePassword()
	admin := cfg.Bootstrap.AdminUser
	if admin == "" {
		admin = "admin"
	}
	if _, err := svc.CreateLoginProfile(ctx, k.Principal, admin, pw, false); err != nil {
		var ie *iam.Error
		if !errors.As(err, &ie) || ie.Code != iam.CodeEntityAlreadyExists {
			return "", fmt.Errorf("dev: setting the admin's console password: %w", err)
		}
		if err := svc.UpdateLoginProfile(ctx, k.Principal, iam.UpdateLoginProfileInput{UserName: admin, Password: &pw}); err != nil {
			return "", fmt.Errorf("dev: setting the admin's console password: %w", err)
		}
	}
	if err := pki.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil { // 0600 even if it existed
		return "", fmt.Errorf("dev: %w", err)
	}
	return pw, nil
}

// newConsolePassword is 20 random characters from an alphabet without look-alikes, with
// an upper-case letter, a lower-case letter, a digit and a symbol, so that any password
// policy's character rules hold.
func newConsolePassword() string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	for i := range b {
		b[i] = alphabet[randIntn(len(alphabet))]
	}
	return string(b) + "-Aa7"
}

func randIntn(n int) int {
	var b [1]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic(err)
		}
		if int(b[0]) < 256/n*n {
			return int(b[0]) % n
		}
	}
}
