// Package shim hands kreuzwerker's Terraform Docker provider to the bridge; the same shape as
// upstream pulumi-docker's provider/shim (github:pulumi/pulumi-docker, provider/shim/shim.go).
package shim

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// NewProvider is the Terraform provider as @pulumi/docker 5.0.0 bridges it.
func NewProvider() *schema.Provider { return provider.New("5.0.0")() }
