module example.com/inventory

go 1.19

require (
	github.com/go-chi/chi/v5 v5.1.0
	github.com/google/uuid v1.6.0
)
