// compose-check loads Compose files the way `docker compose config` does, with
// compose-go (the Compose Specification's reference loader, which Docker
// Compose itself uses): the specification's JSON schema, interpolation from
// the project's .env, and the model's consistency checks (depends_on and
// volume references, conditions). On success it prints the resolved project
// as JSON; on failure the loader's error, exit 1.
//
//	compose-check FILE...
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check FILE...")
		os.Exit(2)
	}
	dir := filepath.Dir(os.Args[1])
	options, err := cli.NewProjectOptions(os.Args[1:],
		cli.WithWorkingDirectory(dir),
		// The project's .env, as docker compose reads it (not the caller's environment).
		cli.WithEnvFiles(),
		cli.WithDotEnv,
		cli.WithName("compose-check"),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-check:", err)
		os.Exit(1)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-check:", err)
		os.Exit(1)
	}
	out, err := json.MarshalIndent(project, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-check:", err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}
