package iam

import "fmt"

// Error is an AWS API error: the code and message the AWS Query layer puts on the wire. The
// HTTP status is the protocol layer's to choose, from the code (internal/awsquery). Every
// failure of a request that AWS would report (a missing entity, a denied action, invalid
// input) is an *Error; any other error (a store failure) is an internal error, which the
// HTTP layer reports as InternalFailure (500) without detail. Messages never contain
// secrets.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return "iam: " + e.Code + ": " + e.Message }

// Error codes.
const (
	CodeNoSuchEntity                  = "NoSuchEntity"
	CodeEntityAlreadyExists           = "EntityAlreadyExists"
	CodeMalformedPolicyDocument       = "MalformedPolicyDocument"
	CodeValidationError               = "ValidationError"
	CodeInvalidInput                  = "InvalidInput"
	CodeLimitExceeded                 = "LimitExceeded"
	CodeDeleteConflict                = "DeleteConflict"
	CodeAccessDenied                  = "AccessDenied"
	CodeInvalidClientTokenID          = "InvalidClientTokenId"
	CodeExpiredToken                  = "ExpiredToken"
	CodeSignatureDoesNotMatch         = "SignatureDoesNotMatch"
	CodeRegionDisabled                = "RegionDisabledException"
	CodePackedPolicyTooLarge          = "PackedPolicyTooLarge"
	CodeDBInstanceNotFound            = "DBInstanceNotFound"
	CodeDBClusterNotFound             = "DBClusterNotFoundFault"
	CodeInvalidParameterValue         = "InvalidParameterValue"
	CodeInvalidParameterCombo         = "InvalidParameterCombination"
	CodeUnmodifiableEntity            = "UnmodifiableEntity"
	CodeInvalidIdentityToken          = "InvalidIdentityToken"
	CodeIDPRejectedClaim              = "IDPRejectedClaim"
	CodeExpiredTokenException         = "ExpiredTokenException" // STS's web identity token expiry
	CodePasswordPolicyViolation       = "PasswordPolicyViolation"
	CodeInvalidUserType               = "InvalidUserType"
	CodeInvalidAuthenticationCode     = "InvalidAuthenticationCode"
	CodeEntityTemporarilyUnmodifiable = "EntityTemporarilyUnmodifiable"
)

// apiErr makes an *Error; with args, format is a fmt format.
func apiErr(code, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Code: code, Message: msg}
}

func noSuchEntity(format string, args ...any) *Error {
	return apiErr(CodeNoSuchEntity, format, args...)
}

func validation(format string, args ...any) *Error {
	return apiErr(CodeValidationError, format, args...)
}

func invalidInput(format string, args ...any) *Error {
	return apiErr(CodeInvalidInput, format, args...)
}

func limitExceeded(format string, args ...any) *Error {
	return apiErr(CodeLimitExceeded, format, args...)
}

func deleteConflict(format string, args ...any) *Error {
	return apiErr(CodeDeleteConflict, format, args...)
}
