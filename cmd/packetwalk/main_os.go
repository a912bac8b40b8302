//go:build !js

package main

import "os"

// main is the command in a terminal. Built for js/wasm, packetwalk is the
// playground's engine instead (playground_js.go).
func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
