package storesql

import (
	"slices"
	"testing"

	"github.com/iamdb/iamdb/internal/store"
)

// LogChanges logs each written item once, sorted, and prunes the log every pruneEvery
// revisions past the retention, raising the floor with it.
func TestLogChanges(t *testing.T) {
	q := ItemQueries("items", "changes", "meta")
	for _, tc := range []struct {
		rev   int64
		prune bool
	}{
		{1, false},
		{pruneEvery, false},
		{store.ChangeRetention + 1, false},
		{store.ChangeRetention + pruneEvery, true},
	} {
		tx := &Tx{Q: &q}
		tx.noteWrite("k", "b")
		tx.noteWrite("k", "a")
		tx.noteWrite("k", "b")
		var got []string
		var floors []any
		err := LogChanges(tx, tc.rev, func(query string, args ...any) error {
			switch query {
			case q.LogChange:
				got = append(got, args[1].(string)+"/"+args[2].(string))
				if args[0] != tc.rev {
					t.Errorf("logged at %v, want %d", args[0], tc.rev)
				}
			case q.Prune, q.SetFloor:
				floors = append(floors, args[0])
			default:
				t.Errorf("unexpected statement %q", query)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"k/a", "k/b"}; !slices.Equal(got, want) {
			t.Errorf("rev %d: logged %v, want %v", tc.rev, got, want)
		}
		var want []any
		if tc.prune {
			f := tc.rev - store.ChangeRetention
			want = []any{f, f}
		}
		if !slices.Equal(floors, want) {
			t.Errorf("rev %d: prune and floor %v, want %v", tc.rev, floors, want)
		}
	}
}
