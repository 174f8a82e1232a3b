package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSqlite: a Go program using github.com/mattn/go-sqlite3 (cgo, dynamic
// against glibc) creates, fills, updates, queries and closes a database on
// a volume, natively and under rumpgo; the host's sqlite3 CLI then reads
// both files and must find the same database, intact. The binary comes
// from go's build cache after the first build (SQLite's C is compiled
// once).
func TestSqlite(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	need(t, "gcc", "gcc")
	need(t, "sqlite3", "sqlite3")
	bin := cgoProgram(t, "gosqlite", false)

	nativeDir, guestDir := t.TempDir(), t.TempDir()
	native := run(t, os.Environ(), nil, bin, nativeDir)
	require.Equal(t, 0, native.status, native.stderr)
	require.Contains(t, native.stdout, "rows 4286, sum(born) 8397069, note bytes 855029\n")
	require.Contains(t, native.stdout, "integrity_check: ok\n")
	guest := run(t, os.Environ(), nil, rumpgo, "run", "-v", guestDir+":/data", bin, "/data")
	require.Equal(t, native.stdout, guest.stdout, "rumpgo stderr:\n%s", guest.stderr)
	require.Equal(t, native.status, guest.status, "rumpgo stderr:\n%s", guest.stderr)

	// Only the database is left: the rollback journal was deleted.
	ents, err := os.ReadDir(guestDir)
	require.NoError(t, err)
	require.Len(t, ents, 1)
	require.Equal(t, "test.db", ents[0].Name())

	cli := func(dir string, sql string) string {
		out, err := exec.Command("sqlite3", filepath.Join(dir, "test.db"), sql).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	require.Equal(t, "ok\n", cli(guestDir, "pragma integrity_check"))
	require.Equal(t, "4286|8397069|855029\n", cli(guestDir, "select count(*), sum(born), sum(length(note)) from people"))
	require.Equal(t, "51|person 0050 (updated)|1950\n", cli(guestDir, "select id, name, born from people where born = 1950 order by id limit 1"))
	require.Equal(t, cli(nativeDir, ".dump"), cli(guestDir, ".dump"), "the two databases differ")
}
