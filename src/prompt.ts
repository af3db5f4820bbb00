/** Questions, only when a person is at the terminal. @inquirer/prompts loads only when one is asked. */
export async function confirm(message: string, def = false): Promise<boolean> {
  if (!process.stdin.isTTY) return def;
  const { confirm: ask } = await import('@inquirer/prompts');
  return ask({ message, default: def });
}

export async function choose<T extends string>(message: string, choices: T[]): Promise<T> {
  const { select } = await import('@inquirer/prompts');
  return select({ message, choices: choices.map((c) => ({ value: c, name: c })) });
}
