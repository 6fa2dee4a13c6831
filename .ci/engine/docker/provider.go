// Package docker maps kreuzwerker's Terraform Docker provider to the tokens and property names
// that @pulumi/docker 5.0.0 sends. The facts follow upstream pulumi-docker v5.0.0
// provider/resources.go `Provider()` (github:pulumi/pulumi-docker): tokens from
// tokens.SingleModule("docker_", "index", MakeStandard("docker")), docker_image as RemoteImage,
// Container with DeleteBeforeReplace and the `command`/`networksAdvanced` names, the `host`
// default, `registryAuth`, auto aliases and autonaming. Only the bridged Terraform resources are
// served: upstream's native docker:index/image:Image (provider/image.go, hybrid.go) is not built.
package docker

import (
	"context"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/terraform-providers/terraform-provider-docker/shim"
)

// Version is the @pulumi/docker pin this provider answers for.
const Version = "5.0.0"

// Provider is the bridge's description of the provider; metadata is the bridge metadata that
// tfgen wrote at build time (empty while tfgen itself runs).
func Provider(metadata []byte) tfbridge.ProviderInfo {
	prov := tfbridge.ProviderInfo{
		P:           shimv2.NewProvider(shim.NewProvider()),
		Name:        "docker",
		Version:     Version,
		Description: "Docker resources (kreuzwerker's Terraform provider through the Pulumi Terraform bridge)",
		License:     "Apache-2.0",
		Repository:  "https://github.com/pulumi/pulumi-docker",
		GitHubOrg:   "kreuzwerker",
		Config: map[string]*tfbridge.SchemaInfo{
			"host": {
				Default: &tfbridge.DefaultInfo{
					EnvVars: []string{"DOCKER_HOST"},
					ComputeDefault: func(context.Context, tfbridge.ComputeDefaultOptions) (interface{}, error) {
						return "unix:///var/run/docker.sock", nil
					},
				},
			},
			"registry_auth": {Name: "registryAuth", MaxItemsOne: tfbridge.False()},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"docker_config": {Tok: "docker:index/serviceConfig:ServiceConfig"},
			"docker_container": {
				Tok:                 "docker:index/container:Container",
				DeleteBeforeReplace: true,
				Fields: map[string]*tfbridge.SchemaInfo{
					"command":           {Name: "command"},
					"networks_advanced": {Name: "networksAdvanced"},
				},
			},
			"docker_image": {
				Tok:    "docker:index/remoteImage:RemoteImage",
				Fields: map[string]*tfbridge.SchemaInfo{"name": {Name: "name"}},
			},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"docker_image": {Tok: "docker:index/getRemoteImage:getRemoteImage"},
		},
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
	}
	prov.MustComputeTokens(tokens.SingleModule("docker_", "index", tokens.MakeStandard("docker")))
	prov.MustApplyAutoAliases()
	prov.SetAutonaming(255, "-")
	return prov
}
