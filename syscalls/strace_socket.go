package syscalls

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// --strace formatting of the socket calls' arguments.

var sockDomainNames = map[uint64]string{
	unix.AF_UNSPEC: "AF_UNSPEC", unix.AF_UNIX: "AF_UNIX", unix.AF_INET: "AF_INET",
	unix.AF_INET6: "AF_INET6", unix.AF_NETLINK: "AF_NETLINK", unix.AF_PACKET: "AF_PACKET",
}

var sockTypeNames = []string{"0", "SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET", "SOCK_DCCP"}

var msgFlagNames = []flagName{
	{unix.MSG_OOB, "MSG_OOB"}, {unix.MSG_PEEK, "MSG_PEEK"}, {unix.MSG_DONTROUTE, "MSG_DONTROUTE"},
	{unix.MSG_CTRUNC, "MSG_CTRUNC"}, {unix.MSG_TRUNC, "MSG_TRUNC"}, {unix.MSG_DONTWAIT, "MSG_DONTWAIT"},
	{unix.MSG_EOR, "MSG_EOR"}, {unix.MSG_WAITALL, "MSG_WAITALL"}, {unix.MSG_NOSIGNAL, "MSG_NOSIGNAL"},
	{unix.MSG_MORE, "MSG_MORE"}, {unix.MSG_WAITFORONE, "MSG_WAITFORONE"},
	{unix.MSG_CMSG_CLOEXEC, "MSG_CMSG_CLOEXEC"},
}

func sockArg(kind argKind, v uint64) string {
	switch kind {
	case aSockDomain:
		if n, ok := sockDomainNames[v&0xffffffff]; ok {
			return n
		}
		return strconv.FormatUint(v&0xffffffff, 10)
	case aSockType:
		s := enumString(v&socketTypeMask, sockTypeNames)
		if v&unix.SOCK_NONBLOCK != 0 {
			s += "|SOCK_NONBLOCK"
		}
		if v&unix.SOCK_CLOEXEC != 0 {
			s += "|SOCK_CLOEXEC"
		}
		return s
	case aMsgFlags:
		if v&0xffffffff == 0 {
			return "0"
		}
		return flagString(v&0xffffffff, msgFlagNames)
	}
	return strconv.FormatUint(v, 10)
}
