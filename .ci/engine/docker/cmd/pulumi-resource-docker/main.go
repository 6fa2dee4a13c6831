// The provider plugin. schema.json and bridge-metadata.json are not in the repository: the build
// generates them with pulumi-tfgen-docker into this folder of its work copy before compiling.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	docker "gitlab-ha.local/engine/docker"
)

//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() { tfbridge.Main("docker", docker.Version, docker.Provider(metadata), schema) }
