//go:build !cgo

package main

func cCrash() { panic("built without cgo") }
