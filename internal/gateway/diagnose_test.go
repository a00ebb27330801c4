package gateway

import (
	"os"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/access"
	"github.com/iamdb/iamdb/token"
)

// Every reason a refusal can have has its row in docs/troubleshooting.md, with its fix.
func TestEveryReasonDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/troubleshooting.md")
	if err != nil {
		t.Fatal(err)
	}
	reasons := append(token.Reasons(), access.ReasonImplicitDeny, access.ReasonExplicitDeny, access.ReasonIAMAuthDisabled, access.ReasonNoPrincipal,
		reasonNoSSL, reasonPassword, reasonNoPassword, reasonProtocol, reasonTLS, reasonBackend, reasonPoolTimeout, reasonShutdown,
		reasonStartupTimeout, reasonInvalidUser, reasonAuditFailed, reasonTooManyClients, reasonTooManyUnauthenticated)
	for _, r := range reasons {
		if !strings.Contains(string(doc), "\n| `"+r+"` |") {
			t.Errorf("docs/troubleshooting.md has no row for the reason %s", r)
		}
	}
}
