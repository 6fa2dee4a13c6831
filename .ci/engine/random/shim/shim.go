// Package shim hands terraform-provider-random (a Plugin Framework provider) to the bridge; the
// same shape as upstream pulumi-random's provider/shim (github:pulumi/pulumi-random, provider/shim/shim.go).
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"

	random "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider is the Terraform provider as @pulumi/random 4.21.1 bridges it.
func NewProvider() provider.Provider { return random.New() }
