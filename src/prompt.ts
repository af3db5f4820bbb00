/**
 * Questions, only when a person is at the terminal. Each prompt loads only when one is asked; the two we use
 * come as their own packages (the @inquirer/prompts bundle would also bring its editor prompt's character
 * set conversion, about 650 KB that every bundled start would compile).
 */
export async function confirm(message: string, def = false): Promise<boolean> {
  if (!process.stdin.isTTY) return def;
  const { default: ask } = await import('@inquirer/confirm');
  return ask({ message, default: def });
}

export async function choose<T extends string>(message: string, choices: T[]): Promise<T> {
  const { default: select } = await import('@inquirer/select');
  return select({ message, choices: choices.map((c) => ({ value: c, name: c })) });
}
