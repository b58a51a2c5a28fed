package metrics

import (
	"net/http"
)

type responseRecorder struct {
	http.ResponseWriter
	statusCode int
	size       int
}

func newResponseRecorder(rw http.ResponseWriter) *responseRecorder {
	return &responseRecorder{ResponseWriter: rw, statusCode: http.StatusOK}
}

func (r *responseRecorder) getCode() int { return r.statusCode }

func (r *responseRecorder) getSize() int { return r.size }

// WriteHeader captures the status code for later retrieval.
func (r *responseRecorder) WriteHeader(status int) {
	r.ResponseWriter.WriteHeader(status)
	r.statusCode = status
}

// Write captures the size of the response.
func (r *responseRecorder) Write(b []byte) (int, error) {
	n, err := r.ResponseWriter.Write(b)
	r.size += n
	return n, err
}

// Flush sends any buffered data to the client.
func (r *responseRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
