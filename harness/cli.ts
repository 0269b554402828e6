// The quorumlab command line: `jepsen`, `bench`, `report`, `cluster`, `check`.
// Each command lives in harness/commands/<name>.ts and exports `main(argv): Promise<number>`
// returning the process exit code.

const COMMANDS = ["jepsen", "bench", "report", "cluster", "check"] as const;
type Command = (typeof COMMANDS)[number];

function isCommand(s: string | undefined): s is Command {
  return s !== undefined && (COMMANDS as readonly string[]).includes(s);
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!isCommand(name)) {
    process.stderr.write(
      `usage: quorumlab <${COMMANDS.join("|")}> [options]\n` +
        (name ? `unknown command: ${name}\n` : ""),
    );
    return 254;
  }
  const mod = (await import(`./commands/${name}.ts`)) as {
    main: (argv: string[]) => Promise<number>;
  };
  return mod.main(rest);
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 255;
  },
);
