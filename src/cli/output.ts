/** How a command prints: human lines (silenced by --quiet) or one JSON document (--json). */
export interface OutputFlags {
  json?: boolean;
  quiet?: boolean;
}

export interface Output {
  /** a human line; nothing under --json or --quiet */
  line(text: string): void;
  /** the machine-readable result; printed only under --json */
  json(value: unknown): void;
}

export function output(flags: OutputFlags): Output {
  return {
    line: (text) => {
      if (!flags.json && !flags.quiet) console.log(text);
    },
    json: (value) => {
      if (flags.json) console.log(JSON.stringify(value, null, 2));
    },
  };
}
