package iam

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/internal/store"
)

// mfaDoc is a virtual MFA device (kind "mfa", key mfaKey). Its TOTP seed is sealed under
// the master key's secret key, bound to the device's serial number.
type mfaDoc struct {
	Name    string    `json:"name"`
	Path    string    `json:"path"`
	Created time.Time `json:"created"`
	Seed    []byte    `json:"seed"` // sealed
	Tags    []Tag     `json:"tags,omitempty"`
	// User is the name of the user the device is enabled for ("" while unassigned),
	// Enabled when.
	User    string    `json:"user,omitempty"`
	Enabled time.Time `json:"enabled,omitzero"`
	// Last is the last TOTP counter accepted (codes at or before it are refused: no replay);
	// Drift is the device clock's offset in steps, found by enabling or resynchronising.
	Last  int64 `json:"last,omitempty"`
	Drift int64 `json:"drift,omitempty"`
}

// Bounds of virtual MFA devices.
const (
	maxMFAName       = 226
	minSerial        = 9
	maxSerial        = 256
	maxMFAPerUser    = 8
	maxMFATags       = 50
	defaultMFAList   = 100
	maxMFAListItems  = 1000
	mfaSeedADPrefix  = "mfa-seed:"
	mfaAssigned      = "Assigned"
	mfaUnassigned    = "Unassigned"
	mfaAny           = "Any"
	invalidMFACodeMs = "Authentication code for device is not valid."
)

func mfaKey(acct, name string) string { return acct + "/" + strings.ToLower(name) }

func mfaARN(acct, path, name string) string { return iamARN(acct, "mfa", path, name) }

func (d *mfaDoc) serial(acct string) string { return mfaARN(acct, d.Path, d.Name) }

// VirtualMFADevice is a virtual MFA device. Base32StringSeed and QRCodePNG are set only by
// CreateVirtualMFADevice: the seed is never returned again.
type VirtualMFADevice struct {
	SerialNumber     string
	Base32StringSeed []byte // the ASCII base32 seed
	QRCodePNG        []byte
	User             *User
	EnableDate       time.Time
	Tags             []Tag
}

// MFADevice is an MFA device enabled for a user (ListMFADevices).
type MFADevice struct {
	UserName, SerialNumber string
	EnableDate             time.Time
}

// CreateVirtualMFADeviceInput is CreateVirtualMFADevice's input.
type CreateVirtualMFADeviceInput struct {
	Path, VirtualMFADeviceName string
	Tags                       []Tag
}

func noSuchMFA(serial string) *Error {
	return noSuchEntity("MFA Device with serial number %s does not exist.", serial)
}

func invalidMFACode() *Error { return apiErr(CodeInvalidAuthenticationCode, invalidMFACodeMs) }

// checkSerial validates an MFA serial number parameter (9–256 of [\w+=/:,.@-]).
func checkSerial(field, serial string) error {
	if len(serial) < minSerial || len(serial) > maxSerial {
		return validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length between %d and %d", serial, field, minSerial, maxSerial)
	}
	for _, r := range serial {
		if !isNameChar(r) && r != '/' && r != ':' {
			return validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=/:,.@-]+", serial, field)
		}
	}
	return nil
}

func checkCode(field, code string) error {
	if !parseTOTPCode(code) {
		return validation("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]+ and have length 6", field)
	}
	return nil
}

// loadMFA finds the virtual device of acct whose serial number is serial; ok is false for
// any other serial (hardware serials included: iamdb has none).
func loadMFA(tx store.Tx, acct, serial string) (*mfaDoc, bool, error) {
	a, err := arn.Parse(serial)
	if err != nil || a.Service != "iam" || a.AccountID != acct || !strings.HasPrefix(a.Resource, "mfa/") {
		return nil, false, nil
	}
	var d mfaDoc
	ok, err := getDoc(tx, kindMFA, mfaKey(acct, lastSegment(a.Resource)), &d)
	if err != nil || !ok || d.serial(acct) != serial {
		return nil, false, err
	}
	return &d, true, nil
}

func (s *Service) openSeed(acct string, d *mfaDoc) ([]byte, error) {
	seed, err := open(s.secrets, d.Seed, []byte(mfaSeedADPrefix+d.serial(acct)))
	if err != nil {
		seed, err = s.openSeedPrevious(acct, d)
	}
	return seed, err
}

// openSeedPrevious opens d's seed under a previous master key: where a rotation by an
// earlier iamdb, which took only access keys along, left it.
func (s *Service) openSeedPrevious(acct string, d *mfaDoc) ([]byte, error) {
	for _, a := range s.previousSecrets {
		if seed, err := open(a, d.Seed, []byte(mfaSeedADPrefix+d.serial(acct))); err == nil {
			return seed, nil
		}
	}
	return nil, errors.New("iam: the MFA seed opens under no master key")
}

// CreateVirtualMFADevice creates an unassigned virtual MFA device with a new random seed
// (iam:CreateVirtualMFADevice on its ARN, iam:TagMFADevice too with tags). The seed, as
// base32 text and as a QR code of its otpauth:// URI, is returned here only.
func (s *Service) CreateVirtualMFADevice(ctx context.Context, c *Caller, in CreateVirtualMFADeviceInput) (VirtualMFADevice, error) {
	path, err := checkCreate(c, "virtualMFADeviceName", in.VirtualMFADeviceName, maxMFAName, in.Path)
	if err != nil {
		return VirtualMFADevice{}, err
	}
	if len(in.Tags) > maxMFATags {
		return VirtualMFADevice{}, validation("1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to %d", maxMFATags)
	}
	tags, err := checkTags(nil, in.Tags)
	if err != nil {
		return VirtualMFADevice{}, err
	}
	serial := mfaARN(c.Account, path, in.VirtualMFADeviceName)
	if err := s.authorizeCreate(ctx, c, "iam:CreateVirtualMFADevice", "iam:TagMFADevice", serial, &Request{RequestTags: tags}); err != nil {
		return VirtualMFADevice{}, err
	}
	seed := make([]byte, totpSeedBytes)
	if _, err := s.rand.Read(seed); err != nil {
		return VirtualMFADevice{}, err
	}
	b32 := seedEncoding.EncodeToString(seed)
	accountName := c.Account
	if c.Type == CallerUser {
		accountName = c.name
	}
	png, err := qrCodePNG(otpauthURI(in.VirtualMFADeviceName, accountName, b32))
	if err != nil {
		return VirtualMFADevice{}, err
	}
	sealed, err := seal(s.secrets, s.rand, seed, []byte(mfaSeedADPrefix+serial))
	if err != nil {
		return VirtualMFADevice{}, err
	}
	d := &mfaDoc{Name: in.VirtualMFADeviceName, Path: path, Created: s.now().UTC().Truncate(time.Second), Seed: sealed, Tags: tags}
	err = s.update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(kindMFA, mfaKey(c.Account, d.Name)); err == nil {
			return apiErr(CodeEntityAlreadyExists, "MFADevice entity at the same path and name already exists.")
		} else if !isNotFound(err) {
			return err
		}
		return putDoc(tx, kindMFA, mfaKey(c.Account, d.Name), d)
	})
	if err != nil {
		return VirtualMFADevice{}, err
	}
	return VirtualMFADevice{SerialNumber: serial, Base32StringSeed: []byte(b32), QRCodePNG: png, Tags: tags}, nil
}

// userDevices returns the devices of acct enabled for user (lower-case match).
func userDevices(tx store.Tx, acct, user string) ([]*mfaDoc, error) {
	var out []*mfaDoc
	err := eachDoc(tx, kindMFA, accountPrefix(acct), func(_ string, d *mfaDoc) error {
		if d.User != "" && strings.EqualFold(d.User, user) {
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// syncDevice finds two consecutive codes of d's seed near now and records the step found;
// InvalidAuthenticationCode if they are not.
func (s *Service) syncDevice(acct string, d *mfaDoc, code1, code2 string) error {
	seed, err := s.openSeed(acct, d)
	if err != nil {
		return invalidMFACode()
	}
	now := totpCounter(s.now())
	last, ok := totpConsecutive(seed, code1, code2, now, totpSyncWindow)
	if !ok || last <= d.Last {
		return invalidMFACode()
	}
	d.Last, d.Drift = last, last-now
	return nil
}

// EnableMFADevice assigns a virtual MFA device to a user after checking two consecutive
// codes of it (iam:EnableMFADevice on the user).
func (s *Service) EnableMFADevice(ctx context.Context, c *Caller, userName, serial, code1, code2 string) error {
	if err := checkMFAParams(userName, serial, code1, code2); err != nil {
		return err
	}
	return s.withUser(ctx, c, "iam:EnableMFADevice", userName, true, func(tx store.Tx, u *userDoc) error {
		d, ok, err := loadMFA(tx, c.Account, serial)
		if err != nil {
			return err
		}
		if !ok {
			return noSuchMFA(serial)
		}
		if d.User != "" {
			return apiErr(CodeEntityAlreadyExists, "MFA Device is already in use.")
		}
		have, err := userDevices(tx, c.Account, u.Name)
		if err != nil {
			return err
		}
		if len(have) >= maxMFAPerUser {
			return apiErr(CodeLimitExceeded, "Cannot exceed quota for MFADevicesPerUser: %d", maxMFAPerUser)
		}
		if err := s.syncDevice(c.Account, d, code1, code2); err != nil {
			return err
		}
		d.User, d.Enabled = u.Name, s.now().UTC().Truncate(time.Second)
		return putDoc(tx, kindMFA, mfaKey(c.Account, d.Name), d)
	})
}

func checkMFAParams(userName, serial, code1, code2 string) error {
	if userName == "" {
		return validation("1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null")
	}
	if err := checkSerial("serialNumber", serial); err != nil {
		return err
	}
	if err := checkCode("authenticationCode1", code1); err != nil {
		return err
	}
	return checkCode("authenticationCode2", code2)
}

// ResyncMFADevice resynchronises a user's enabled device with two consecutive codes
// (iam:ResyncMFADevice on the user).
func (s *Service) ResyncMFADevice(ctx context.Context, c *Caller, userName, serial, code1, code2 string) error {
	if err := checkMFAParams(userName, serial, code1, code2); err != nil {
		return err
	}
	return s.withUser(ctx, c, "iam:ResyncMFADevice", userName, true, func(tx store.Tx, u *userDoc) error {
		d, ok, err := loadMFA(tx, c.Account, serial)
		if err != nil {
			return err
		}
		if !ok || !strings.EqualFold(d.User, u.Name) {
			return noSuchMFA(serial)
		}
		if err := s.syncDevice(c.Account, d, code1, code2); err != nil {
			return err
		}
		return putDoc(tx, kindMFA, mfaKey(c.Account, d.Name), d)
	})
}

// DeactivateMFADevice unassigns a device from a user (empty name: the caller;
// iam:DeactivateMFADevice on the user). The device stays, unassigned.
func (s *Service) DeactivateMFADevice(ctx context.Context, c *Caller, userName, serial string) error {
	if err := checkSerial("serialNumber", serial); err != nil {
		return err
	}
	return s.withUser(ctx, c, "iam:DeactivateMFADevice", userName, true, func(tx store.Tx, u *userDoc) error {
		d, ok, err := loadMFA(tx, c.Account, serial)
		if err != nil {
			return err
		}
		if !ok || !strings.EqualFold(d.User, u.Name) {
			return noSuchMFA(serial)
		}
		d.User, d.Enabled, d.Drift = "", time.Time{}, 0
		return putDoc(tx, kindMFA, mfaKey(c.Account, d.Name), d)
	})
}

// DeleteVirtualMFADevice deletes an unassigned virtual MFA device
// (iam:DeleteVirtualMFADevice on its serial number); an assigned one is DeleteConflict.
func (s *Service) DeleteVirtualMFADevice(ctx context.Context, c *Caller, serial string) error {
	if err := needCaller(c); err != nil {
		return err
	}
	if err := checkSerial("serialNumber", serial); err != nil {
		return err
	}
	return s.update(ctx, func(tx store.Tx) error {
		d, ok, err := loadMFA(tx, c.Account, serial)
		if err != nil {
			return err
		}
		req := &Request{}
		if ok {
			req.ResourceTags = d.Tags
		}
		if err := s.authorize(ctx, c, "iam:DeleteVirtualMFADevice", serial, req); err != nil {
			return err
		}
		if !ok {
			return noSuchMFA(serial)
		}
		if d.User != "" {
			return deleteConflict("MFA Device is in use and cannot be deleted. Please deactivate it first.")
		}
		return tx.Delete(kindMFA, mfaKey(c.Account, d.Name))
	})
}

// ListMFADevicesOutput is ListMFADevices' output.
type ListMFADevicesOutput struct {
	MFADevices  []MFADevice
	IsTruncated bool
	Marker      string
}

// ListMFADevices lists the devices enabled for a user (empty name: the caller;
// iam:ListMFADevices on the user).
func (s *Service) ListMFADevices(ctx context.Context, c *Caller, in ListNamedInput) (ListMFADevicesOutput, error) {
	var all []MFADevice
	err := s.withUser(ctx, c, "iam:ListMFADevices", in.Name, false, func(tx store.Tx, u *userDoc) error {
		ds, err := userDevices(tx, c.Account, u.Name)
		for _, d := range ds {
			all = append(all, MFADevice{UserName: u.Name, SerialNumber: d.serial(c.Account), EnableDate: d.Enabled})
		}
		return err
	})
	if err != nil {
		return ListMFADevicesOutput{}, err
	}
	var out ListMFADevicesOutput
	out.MFADevices, out.IsTruncated, out.Marker, err = sortedPage(all, func(d *MFADevice) string { return d.SerialNumber }, in.Marker, in.MaxItems)
	return out, err
}

// ListVirtualMFADevicesInput is ListVirtualMFADevices' input.
type ListVirtualMFADevicesInput struct {
	AssignmentStatus string // Assigned, Unassigned or Any ("": Any)
	Marker           string
	MaxItems         int
}

// ListVirtualMFADevicesOutput is ListVirtualMFADevices' output.
type ListVirtualMFADevicesOutput struct {
	VirtualMFADevices []VirtualMFADevice
	IsTruncated       bool
	Marker            string
}

// ListVirtualMFADevices lists the account's virtual MFA devices, with the user of each
// assigned one (iam:ListVirtualMFADevices on "*"). No seed, no tags.
func (s *Service) ListVirtualMFADevices(ctx context.Context, c *Caller, in ListVirtualMFADevicesInput) (ListVirtualMFADevicesOutput, error) {
	if err := needCaller(c); err != nil {
		return ListVirtualMFADevicesOutput{}, err
	}
	status := in.AssignmentStatus
	switch status {
	case "":
		status = mfaAny
	case mfaAssigned, mfaUnassigned, mfaAny:
	default:
		return ListVirtualMFADevicesOutput{}, validation("1 validation error detected: Value '%s' at 'assignmentStatus' failed to satisfy constraint: Member must satisfy enum value set: [Unassigned, Any, Assigned]", status)
	}
	if err := s.authorize(ctx, c, "iam:ListVirtualMFADevices", "*", nil); err != nil {
		return ListVirtualMFADevicesOutput{}, err
	}
	var all []VirtualMFADevice
	err := s.st.View(ctx, func(tx store.Tx) error {
		return eachDoc(tx, kindMFA, accountPrefix(c.Account), func(_ string, d *mfaDoc) error {
			if status == mfaAssigned && d.User == "" || status == mfaUnassigned && d.User != "" {
				return nil
			}
			v := VirtualMFADevice{SerialNumber: d.serial(c.Account)}
			if d.User != "" {
				u, ok, err := loadUser(tx, c.Account, d.User)
				if err != nil {
					return err
				}
				if ok {
					uu := u.user(c.Account)
					uu.Tags, uu.PermissionsBoundary = nil, nil
					v.User = &uu
				}
				v.EnableDate = d.Enabled
			}
			all = append(all, v)
			return nil
		})
	})
	if err != nil {
		return ListVirtualMFADevicesOutput{}, err
	}
	var out ListVirtualMFADevicesOutput
	out.VirtualMFADevices, out.IsTruncated, out.Marker, err = sortedPage(all, func(d *VirtualMFADevice) string { return d.SerialNumber }, in.Marker, in.MaxItems)
	return out, err
}

// checkSessionMFA checks a GetSessionToken code against the calling user's enabled device
// and records its step, so that the code cannot be used again. It returns the errors AWS
// words for a serial that is not the user's and for a wrong code.
func (s *Service) checkSessionMFA(ctx context.Context, c *Caller, serial, code string) error {
	notTheirs := apiErr(CodeAccessDenied, "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.")
	wrong := apiErr(CodeAccessDenied, "MultiFactorAuthentication failed with invalid MFA one time pass code.")
	return s.update(ctx, func(tx store.Tx) error {
		d, ok, err := loadMFA(tx, c.Account, serial)
		if err != nil {
			return err
		}
		if !ok || d.User == "" || !strings.EqualFold(d.User, c.name) {
			return notTheirs
		}
		ok, err = s.useCode(c.Account, d, code)
		if err != nil {
			return notTheirs
		}
		if !ok {
			return wrong
		}
		return putDoc(tx, kindMFA, mfaKey(c.Account, d.Name), d)
	})
}

// useCode reports whether code is d's at the current time (within the window, from the
// device's drift) and newer than the last code accepted, and then records its step in d
// (the caller writes d): a code is good once. The error is the seed's that cannot be
// opened.
func (s *Service) useCode(acct string, d *mfaDoc, code string) (bool, error) {
	seed, err := s.openSeed(acct, d)
	if err != nil {
		return false, err
	}
	now := totpCounter(s.now()) + d.Drift
	step, ok := totpMatch(seed, code, now-totpWindow, now+totpWindow)
	if !ok || step <= d.Last {
		return false, nil
	}
	d.Last = step
	return true, nil
}
