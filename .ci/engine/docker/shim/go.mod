// Named inside the provider's module path so that Go lets it import the provider's internal
// package (internal/provider); the wrapper's go.mod replaces that module with kreuzwerker's code.
module github.com/terraform-providers/terraform-provider-docker/shim

go 1.25.8

require github.com/terraform-providers/terraform-provider-docker v0.0.0-20260916201441-96d331c98ff4
