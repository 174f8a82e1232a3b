package posix

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

type ids struct{ r, e, s, fs uint32 }

func uids(c Cred) ids { return ids{c.RUID, c.EUID, c.SUID, c.FSUID} }
func gids(c Cred) ids { return ids{c.RGID, c.EGID, c.SGID, c.FSGID} }

// mixed is a non-root process whose real, effective and saved uids differ.
func mixed() Cred {
	c := NewCred(1000, 100, nil)
	c.RUID, c.EUID, c.SUID, c.FSUID = 1000, 1001, 1002, 1001
	c.RGID, c.EGID, c.SGID, c.FSGID = 100, 101, 102, 101
	return c
}

func TestNewCred(t *testing.T) {
	root := NewCred(0, 0, []uint32{5, 0, 3})
	require.Equal(t, []uint32{0, 3, 5}, root.Groups, "groups are kept sorted")
	require.Equal(t, CapAll, root.CapEff)
	require.Equal(t, CapAll, root.CapPrm)
	require.True(t, root.Capable(CAP_SETUID))
	user := NewCred(1000, 1000, nil)
	require.Zero(t, user.CapEff|user.CapPrm)
	require.Equal(t, CapAll, user.CapBnd)
	require.False(t, user.Capable(CAP_SETUID))
}

func TestUIDRules(t *testing.T) {
	const n = NoID
	for _, tc := range []struct {
		name string
		from Cred
		set  func(Cred) (Cred, unix.Errno)
		want ids
		err  unix.Errno
	}{
		{"root setuid sets all", NewCred(0, 0, nil), func(c Cred) (Cred, unix.Errno) { return c.SetUID(1000) }, ids{1000, 1000, 1000, 1000}, 0},
		{"setuid -1", NewCred(0, 0, nil), func(c Cred) (Cred, unix.Errno) { return c.SetUID(n) }, ids{0, 0, 0, 0}, unix.EINVAL},
		{"user setuid to saved", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetUID(1002) }, ids{1000, 1002, 1002, 1002}, 0},
		{"user setuid to real", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetUID(1000) }, ids{1000, 1000, 1002, 1000}, 0},
		{"user setuid to other", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetUID(0) }, ids{1000, 1001, 1002, 1001}, unix.EPERM},
		{"user setuid to effective only", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetUID(1001) }, ids{1000, 1001, 1002, 1001}, unix.EPERM},
		{"setreuid swap", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetREUID(1001, 1000) }, ids{1001, 1000, 1000, 1000}, 0},
		{"setreuid euid to saved", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetREUID(n, 1002) }, ids{1000, 1002, 1002, 1002}, 0},
		{"setreuid euid to real keeps saved", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetREUID(n, 1000) }, ids{1000, 1000, 1002, 1000}, 0},
		{"setreuid ruid to saved", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetREUID(1002, n) }, ids{1000, 1001, 1002, 1001}, unix.EPERM},
		{"setreuid euid other", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetREUID(n, 7) }, ids{1000, 1001, 1002, 1001}, unix.EPERM},
		{"setreuid nothing", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetREUID(n, n) }, ids{1000, 1001, 1002, 1001}, 0},
		{"setresuid rotate", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetRESUID(1002, 1000, 1001) }, ids{1002, 1000, 1001, 1000}, 0},
		{"setresuid other", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetRESUID(n, n, 0) }, ids{1000, 1001, 1002, 1001}, unix.EPERM},
		{"root setresuid anything", NewCred(0, 0, nil), func(c Cred) (Cred, unix.Errno) { return c.SetRESUID(1, 2, 3) }, ids{1, 2, 3, 2}, 0},
		{"setfsuid to saved", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetFSUID(1002), 0 }, ids{1000, 1001, 1002, 1002}, 0},
		{"setfsuid to other is ignored", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetFSUID(0), 0 }, ids{1000, 1001, 1002, 1001}, 0},
		{"root setfsuid", NewCred(0, 0, nil), func(c Cred) (Cred, unix.Errno) { return c.SetFSUID(5), 0 }, ids{0, 0, 0, 5}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.set(tc.from)
			require.Equal(t, tc.err, err)
			require.Equal(t, tc.want, uids(got))
		})
	}
}

func TestGIDRules(t *testing.T) {
	const n = NoID
	for _, tc := range []struct {
		name string
		from Cred
		set  func(Cred) (Cred, unix.Errno)
		want ids
		err  unix.Errno
	}{
		{"root setgid sets all", NewCred(0, 0, nil), func(c Cred) (Cred, unix.Errno) { return c.SetGID(7) }, ids{7, 7, 7, 7}, 0},
		{"user setgid to saved", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetGID(102) }, ids{100, 102, 102, 102}, 0},
		{"user setgid other", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetGID(0) }, ids{100, 101, 102, 101}, unix.EPERM},
		{"setgid -1", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetGID(n) }, ids{100, 101, 102, 101}, unix.EINVAL},
		{"setregid swap", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetREGID(101, 100) }, ids{101, 100, 100, 100}, 0},
		{"setregid other", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetREGID(0, n) }, ids{100, 101, 102, 101}, unix.EPERM},
		{"setresgid rotate", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetRESGID(102, 100, 101) }, ids{102, 100, 101, 100}, 0},
		{"setresgid other", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetRESGID(0, n, n) }, ids{100, 101, 102, 101}, unix.EPERM},
		{"setfsgid to real", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetFSGID(100), 0 }, ids{100, 101, 102, 100}, 0},
		{"setfsgid other ignored", mixed(), func(c Cred) (Cred, unix.Errno) { return c.SetFSGID(0), 0 }, ids{100, 101, 102, 101}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.set(tc.from)
			require.Equal(t, tc.err, err)
			require.Equal(t, tc.want, gids(got))
		})
	}
}

func TestCapabilitiesFollowUIDs(t *testing.T) {
	root := NewCred(0, 0, nil)
	// Effective uid away from 0, saved uid still 0: permitted stays.
	c, err := root.SetRESUID(1000, 1000, 0)
	require.Zero(t, err)
	require.Zero(t, c.CapEff)
	require.Equal(t, CapAll, c.CapPrm)
	require.False(t, c.Capable(CAP_SETUID))
	// Back to euid 0: effective comes back from permitted.
	c, err = c.SetUID(0)
	require.Zero(t, err)
	require.Equal(t, ids{1000, 0, 0, 0}, uids(c))
	require.Equal(t, CapAll, c.CapEff)
	// No uid 0 left: everything goes, for good.
	c, err = c.SetRESUID(1000, 1000, 1000)
	require.Zero(t, err)
	require.Zero(t, c.CapEff|c.CapPrm)
	_, err = c.SetUID(0)
	require.Equal(t, unix.EPERM, err)

	// PR_SET_KEEPCAPS keeps permitted across the change.
	keep := root
	keep.KeepCaps = true
	c, _ = keep.SetUID(1000)
	require.Equal(t, CapAll, c.CapPrm)
	require.Zero(t, c.CapEff)

	// fsuid 0 carries the file-system capabilities only.
	c = root.SetFSUID(1000)
	require.Equal(t, CapAll&^capFSSet, c.CapEff)
	c = c.SetFSUID(0)
	require.Equal(t, CapAll, c.CapEff)
}

func TestGroupsAndCapset(t *testing.T) {
	root := NewCred(0, 0, []uint32{0})
	c, err := root.SetGroups([]uint32{9, 4})
	require.Zero(t, err)
	require.Equal(t, []uint32{4, 9}, c.Groups)
	_, err = root.SetGroups(make([]uint32, NGROUPS_MAX+1))
	require.Equal(t, unix.EINVAL, err)
	_, err = NewCred(1, 1, nil).SetGroups(nil)
	require.Equal(t, unix.EPERM, err)

	c, err = root.SetCaps(1<<CAP_CHOWN, 1<<CAP_CHOWN|1<<CAP_SETUID, 0)
	require.Zero(t, err)
	require.True(t, c.Capable(CAP_CHOWN))
	require.False(t, c.Capable(CAP_SETUID))
	_, err = c.SetCaps(1<<capKill, 1<<capKill, 0)
	require.Equal(t, unix.EPERM, err, "permitted cannot grow")
	_, err = c.SetCaps(1<<CAP_SETUID, 1<<CAP_CHOWN, 0)
	require.Equal(t, unix.EPERM, err, "effective within permitted")
	_, err = NewCred(1, 1, nil).SetCaps(0, 0, 1<<CAP_CHOWN)
	require.Equal(t, unix.EPERM, err, "inheritable within permitted without CAP_SETPCAP")

	c, err = root.DropBound(CAP_SYS_NICE)
	require.Zero(t, err)
	require.Zero(t, c.CapBnd&(1<<CAP_SYS_NICE))
	_, err = root.DropBound(CAP_LAST_CAP + 1)
	require.Equal(t, unix.EINVAL, err)
	_, err = NewCred(1, 1, nil).DropBound(CAP_LAST_CAP + 1)
	require.Equal(t, unix.EPERM, err, "EPERM is checked first")
}

const capKill = 5 // CAP_KILL, one the emulation does not name

func TestCredsUpdate(t *testing.T) {
	cs := NewCreds(NewCred(0, 0, nil))
	old, cur, err := cs.Update(func(c Cred) (Cred, unix.Errno) { return c.SetUID(1000) })
	require.Zero(t, err)
	require.True(t, IDsChanged(old, cur))
	require.Equal(t, uint32(1000), cs.Get().EUID)
	_, _, err = cs.Update(func(c Cred) (Cred, unix.Errno) { return c.SetUID(0) })
	require.Equal(t, unix.EPERM, err)
	require.Equal(t, uint32(1000), cs.Get().EUID, "a failed update changes nothing")
	old, cur, _ = cs.Update(func(c Cred) (Cred, unix.Errno) { return c.SetRESUID(NoID, NoID, NoID) })
	require.False(t, IDsChanged(old, cur))
}
