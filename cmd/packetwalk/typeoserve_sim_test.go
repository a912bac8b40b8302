package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// type-o-serve on the simulated stack: the request arrives through
// packetwalk's NIC, IP and TCP, the operator's typed response goes back, and
// the simulated client (gVisor's netstack with Go's HTTP client) shows what
// it understood.
func TestTypeOServeSimulated(t *testing.T) {
	typed := "HTTP/1.0 404 Not Found\nContent-Type: text/plain\nContent-Length: 8\n\nno such\n.\n"
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := typeOServeCommand(ctx, []string{"--sim", "--get", "/where"}, strings.NewReader(typed), &out, &out, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"GET /where HTTP/1.1", "<<<Type Response Followed by '.'>>>", "<<<The client understood>>>", "HTTP/1.0 404 Not Found", "no such"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// A response the client cannot parse is reported as such, not a hang.
func TestTypeOServeSimulatedGarbage(t *testing.T) {
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := typeOServeCommand(ctx, []string{"--sim"}, strings.NewReader("this is not HTTP\n.\n"), &out, &out, nil)
	if err == nil || !strings.Contains(err.Error(), "could not make sense") {
		t.Fatalf("err %v\n%s", err, out.String())
	}
}
