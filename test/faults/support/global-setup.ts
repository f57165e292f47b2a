import { execFileSync } from 'node:child_process';

/** The fault tests run the services as built, `node dist/apps/<app>/main.js`: build once, first. */
export default function build(): void {
  execFileSync('npm', ['run', 'build', '--silent'], {
    cwd: new URL('../../../', import.meta.url).pathname,
    stdio: 'inherit',
  });
}
