#!/bin/sh
# Regenerates names.go from the installed kernel headers (linux-libc-dev).
set -e
h=/usr/include/x86_64-linux-gnu/asm/unistd_64.h
{
	echo '// Code generated from asm/unistd_64.h by gen_names.sh; DO NOT EDIT.'
	echo
	echo 'package syscalls'
	echo
	echo '// linuxNames names every x86-64 syscall number, implemented or not.'
	echo 'var linuxNames = map[uint64]string{'
	grep -E '^#define __NR_' "$h" | awk '{sub("__NR_","",$2); printf "\t%s: \"%s\",\n", $3, $2}'
	echo '}'
} > names.go
gofmt -w names.go
