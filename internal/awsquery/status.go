package awsquery

import (
	"net/http"

	"github.com/iamdb/iamdb/internal/iam"
)

// statusOf is the HTTP status of each error code of the domain (iam.Error.Code), as AWS
// answers it. A code not listed is 400.
var statusOf = map[string]int{
	iam.CodeNoSuchEntity:                  http.StatusNotFound,
	iam.CodeEntityAlreadyExists:           http.StatusConflict,
	iam.CodeMalformedPolicyDocument:       http.StatusBadRequest,
	iam.CodeValidationError:               http.StatusBadRequest,
	iam.CodeInvalidInput:                  http.StatusBadRequest,
	iam.CodeLimitExceeded:                 http.StatusConflict,
	iam.CodeDeleteConflict:                http.StatusConflict,
	iam.CodeAccessDenied:                  http.StatusForbidden,
	iam.CodeInvalidClientTokenID:          http.StatusForbidden,
	iam.CodeExpiredToken:                  http.StatusBadRequest,
	iam.CodeSignatureDoesNotMatch:         http.StatusForbidden,
	iam.CodeRegionDisabled:                http.StatusForbidden,
	iam.CodePackedPolicyTooLarge:          http.StatusBadRequest,
	iam.CodeDBInstanceNotFound:            http.StatusNotFound,
	iam.CodeDBClusterNotFound:             http.StatusNotFound,
	iam.CodeInvalidParameterValue:         http.StatusBadRequest,
	iam.CodeInvalidParameterCombo:         http.StatusBadRequest,
	iam.CodeUnmodifiableEntity:            http.StatusBadRequest,
	iam.CodeInvalidIdentityToken:          http.StatusBadRequest,
	iam.CodeIDPRejectedClaim:              http.StatusForbidden,
	iam.CodeExpiredTokenException:         http.StatusBadRequest,
	iam.CodeReportNotPresent:              http.StatusGone,
	iam.CodePasswordPolicyViolation:       http.StatusBadRequest,
	iam.CodeInvalidUserType:               http.StatusBadRequest,
	iam.CodeInvalidAuthenticationCode:     http.StatusForbidden,
	iam.CodeEntityTemporarilyUnmodifiable: http.StatusConflict,
}

// domainStatus is the HTTP status of the domain's error code.
func domainStatus(code string) int {
	if st, ok := statusOf[code]; ok {
		return st
	}
	return http.StatusBadRequest
}
