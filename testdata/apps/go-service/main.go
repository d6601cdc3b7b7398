// Command inventory is a small HTTP service: the kind of thing a team ships
// in a single-stage image with the whole Go toolchain still inside.
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"
)

// instance identifies this process in every answer.
var instance = uuid.NewString()

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "18081"
	}
	addr := "127.0.0.1:" + port

	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(middleware.Recoverer)
	r.Get("/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok"))
	})
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{
			"service":  "inventory",
			"uid":      os.Getuid(),
			"instance": instance,
			"request":  middleware.GetReqID(r.Context()),
		})
	})

	srv := &http.Server{Addr: addr, Handler: r, ReadHeaderTimeout: 5 * time.Second}
	log.Printf("inventory listening on http://%s", addr)
	log.Fatal(srv.ListenAndServe())
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		log.Printf("write: %v", err)
	}
}
