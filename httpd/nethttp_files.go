package httpd

import (
	"fmt"
	"io"
	"net/http"
)

// NetHTTPFiles is Go's net/http.FileServer as the servers that httpd is
// compared with use it (serve --server nethttp, bench/gvisortun,
// bench/kernelhttp). GET and HEAD serve the files, as FileServer does. Any
// other method is refused with 405 and Allow, after its body has been read
// whole, as httpd refuses it (RFC 9110 §15.5.6): plain FileServer would
// answer a POST with the file and leave the body unread, so an upload
// would cost the servers different work. bench/run's upload measurement
// POSTs to a static file on every stack. A body larger than maxBody bytes
// is refused with 413 once maxBody bytes have been read; maxBody 0 is
// Config.MaxBodyBytes's default, as for httpd.
func NetHTTPFiles(root http.FileSystem, maxBody int64) http.Handler {
	if maxBody <= 0 {
		maxBody = defaultMaxBodyBytes
	}
	files := http.FileServer(root)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			files.ServeHTTP(w, r)
			return
		}
		n, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, maxBody))
		if _, tooLarge := err.(*http.MaxBytesError); tooLarge {
			http.Error(w, fmt.Sprintf("the body is larger than %d bytes", maxBody), http.StatusRequestEntityTooLarge)
			return
		}
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, fmt.Sprintf("%s is not allowed here (%d body bytes read)", r.Method, n), http.StatusMethodNotAllowed)
	})
}
