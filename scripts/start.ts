/**
 * `bun run start`: the fleet's CLI. Options and env are listed by `bun run start -- --help`.
 */
import { main } from "../workers/primary/main.ts";

process.exit(await main(process.argv.slice(2)));
