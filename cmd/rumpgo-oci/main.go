// Command rumpgo-oci is rumpgo's OCI runtime, for Docker and containerd
// (package oci):
//
//	dockerd --add-runtime rumpgo=/usr/local/bin/rumpgo-oci
//	docker run --runtime=rumpgo IMAGE
package main

import (
	"os"

	"github.com/rumpgo/rumpgo/oci"
)

func main() { os.Exit(oci.Main(os.Args[1:], os.Stdout, os.Stderr)) }
