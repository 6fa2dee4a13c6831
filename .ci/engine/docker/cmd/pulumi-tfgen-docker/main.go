// The bridge's generator: writes schema.json and bridge-metadata.json for the provider binary
// (.ci/engine/build runs `pulumi-tfgen-docker schema --out <dir>`).
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	docker "gitlab-ha.local/engine/docker"
)

func main() { tfgen.Main("docker", docker.Version, docker.Provider(nil)) }
