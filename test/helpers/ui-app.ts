import { join } from 'node:path';
import type { render } from 'ink-testing-library';
import { afterEach, beforeAll } from 'vitest';
import { openSession, type Session } from '../../src/app/session/session.js';
import { REPO } from './cli.js';

export type MountedApp = ReturnType<typeof render>;

/** The last frame an ink-testing-library app drew. */
export const frame = (app: MountedApp): string => app.lastFrame() ?? '';

/**
 * For UI component tests: opens a session on the demo model once per file, and unmounts the app
 * a test mounted (pass it through `track`) after each test.
 */
export function useDemoSession(): { readonly demo: () => Session; readonly track: (app: MountedApp) => MountedApp } {
  let demo: Session | undefined;
  let mounted: MountedApp | null = null;
  beforeAll(async () => {
    demo = await openSession({ model: { modelPath: join(REPO, 'models', 'demo-generator.onnx') }, quant: {} });
  });
  afterEach(() => {
    mounted?.unmount();
    mounted = null;
  });
  return {
    demo: () => {
      if (!demo) throw new Error('the demo session opens in beforeAll');
      return demo;
    },
    track: (app) => {
      mounted = app;
      return app;
    },
  };
}
