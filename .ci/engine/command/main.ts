// pulumi-resource-command 1.2.1: the project's own TypeScript stand-in for upstream's Go provider
// (README.md beside this file). The engine launches it through a #!/bin/sh launcher
// (`exec node .../dist/.ci/engine/command/main.js "$@"`) installed by .ci/engine/build.
import { connectEngine } from "./engine-log";
import { CommandProvider } from "./provider";
import { serve } from "./serve";

const args = process.argv.slice(2);
connectEngine(args);
serve(new CommandProvider(), args).catch((e) => {
  console.error(e);
  process.exit(1);
});
