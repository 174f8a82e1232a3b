package syscalls

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseShebang(t *testing.T) {
	for _, tc := range []struct {
		head, interp, arg string
		script            bool
	}{
		{"#!/bin/sh\necho", "/bin/sh", "", true},
		{"#!/bin/sh -e\n", "/bin/sh", "-e", true},
		{"#! /usr/bin/env python3 -u  \n", "/usr/bin/env", "python3 -u", true}, // one argument: the rest of the line
		{"#!/bin/sh\t-x\n", "/bin/sh", "-x", true},
		{"#!\n", "", "", true}, // a script with no interpreter: ENOEXEC
		{"#!/bin/sh", "/bin/sh", "", true},
		{"\x7fELF", "", "", false},
		{"echo hi\n", "", "", false},
	} {
		interp, arg, script := parseShebang([]byte(tc.head))
		require.Equal(t, tc.script, script, "%q", tc.head)
		require.Equal(t, tc.interp, interp, "%q", tc.head)
		require.Equal(t, tc.arg, arg, "%q", tc.head)
	}
}
