/**
 * Builds the image's file system without Docker (no engine and no registry here): walks our
 * Dockerfile and carries out what it can on this machine. Each stage gets a directory standing
 * for its WORKDIR; `COPY` copies from the project (or from an earlier stage); `RUN bun …` runs
 * there; other `RUN`s install Debian packages, which this Debian machine already has (tini).
 * Instructions it does not know fail loudly, so a new one in the Dockerfile gets handled here.
 */
import { chmodSync, cpSync, mkdirSync, mkdtempSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { execForm, healthcheckCommand, parseDockerfile } from "./dockerfile.ts";
import { ROOT } from "./fleet.ts";

/** The runtime stage as a directory, with what the image would run there and as whom. */
export interface Image {
  /** The temporary directory holding every stage: remove it when done. */
  root: string;
  /** The last stage's WORKDIR, on this machine. */
  dir: string;
  env: Record<string, string>;
  /** `USER` as numbers. */
  uid: number;
  gid: number;
  /** ENTRYPOINT followed by CMD. */
  command: string[];
  healthcheck: string[];
  /** RUN instructions not carried out here (system packages). */
  skipped: string[];
}

interface Stage {
  name: string;
  dir: string;
  workdir: string;
}

/** Where an absolute path of `stage`'s file system lives on this machine. */
function onDisk(stage: Stage, path: string): string {
  const inside = path.startsWith("/") ? relative(stage.workdir, path) : path;
  if (inside.startsWith("..")) throw new Error(`${path} is outside ${stage.workdir}`);
  return join(stage.dir, inside);
}

/** Copies, or moves out of an earlier stage (no later step reads it, and copying is slow). */
function copy(from: string, to: string, move: boolean): void {
  mkdirSync(dirname(to), { recursive: true });
  if (move) renameSync(from, to);
  else cpSync(from, to, { recursive: true });
}

/** Builds every stage of the project's Dockerfile under a fresh temporary directory. */
export async function buildImage(): Promise<Image> {
  const base = mkdtempSync(join(tmpdir(), "image-"));
  const stages: Stage[] = [];
  const image: Image = {
    root: base,
    dir: "",
    env: {},
    uid: 0,
    gid: 0,
    command: [],
    healthcheck: [],
    skipped: [],
  };
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  const text = await Bun.file(join(ROOT, "Dockerfile")).text();
  for (const { keyword, args } of parseDockerfile(text)) {
    const stage = stages.at(-1) as Stage;
    switch (keyword) {
      case "FROM": {
        const name = /\sAS\s+(\S+)$/i.exec(args)?.[1] ?? String(stages.length);
        const dir = join(base, `stage-${name}`);
        mkdirSync(dir);
        stages.push({ name, dir, workdir: "/" });
        image.env = {};
        break;
      }
      case "WORKDIR":
        stage.workdir = args;
        break;
      case "COPY": {
        const from = /^--from=(\S+)\s+/.exec(args);
        const parts = args.replace(/^--from=\S+\s+/, "").split(/\s+/);
        const target = parts.pop() ?? ".";
        const source = from ? stages.find((s) => s.name === from[1]) : undefined;
        if (from && !source) throw new Error(`COPY --from=${from[1]}: no such stage`);
        for (const part of parts) {
          const src = source ? onDisk(source, part) : join(ROOT, part);
          const dest = target.endsWith("/")
            ? join(onDisk(stage, target), part.split("/").at(-1) ?? part)
            : onDisk(stage, target);
          copy(src, dest, source !== undefined);
        }
        break;
      }
      case "RUN":
        if (/^bun\s/.test(args)) {
          const run = Bun.spawnSync(["sh", "-c", args], { cwd: onDisk(stage, stage.workdir) });
          if (run.exitCode !== 0) throw new Error(`RUN ${args} failed:\n${run.stderr}`);
        } else image.skipped.push(args);
        break;
      case "ENV":
        for (const pair of args.split(/\s+/)) {
          const at = pair.indexOf("=");
          image.env[pair.slice(0, at)] = pair.slice(at + 1);
        }
        break;
      case "USER": {
        const [uid = "", gid = uid] = args.split(":");
        image.uid = Number(uid);
        image.gid = Number(gid);
        break;
      }
      case "ENTRYPOINT":
        entrypoint = execForm(args) ?? ["sh", "-c", args];
        break;
      case "CMD":
        cmd = execForm(args) ?? ["sh", "-c", args];
        break;
      case "HEALTHCHECK":
        image.healthcheck = execForm(healthcheckCommand(args)) ?? [];
        break;
      case "EXPOSE":
        break;
      case "VOLUME":
        // A mount point: here, a directory in the image (Docker mounts a volume on it).
        for (const path of execForm(args) ?? args.split(/\s+/)) {
          mkdirSync(onDisk(stage, path), { recursive: true });
        }
        break;
      default:
        throw new Error(`test/helpers/image.ts cannot carry out ${keyword} yet`);
    }
  }
  const last = stages.at(-1) as Stage;
  image.dir = onDisk(last, last.workdir);
  image.command = [...entrypoint, ...cmd];
  // mkdtemp makes a private directory: let the image's user in, as a container would.
  for (let dir = image.dir; dir.startsWith(base); dir = dirname(dir)) chmodSync(dir, 0o755);
  return image;
}
