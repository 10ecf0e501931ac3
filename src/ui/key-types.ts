import type { JobRequest } from '../app/session/session-jobs.js';
import type { Session } from '../app/session/session.js';
import type { Layout } from './layout.js';
import type { UiState } from './state.js';

/** What a key asks the app to do beyond changing state. */
export type Effect =
  | { readonly type: 'start'; readonly request: JobRequest }
  | { readonly type: 'cancel' }
  | { readonly type: 'quit' }
  | { readonly type: 'save-plan'; readonly path: string }
  | { readonly type: 'open-plan'; readonly path: string }
  | { readonly type: 'check-settings' }
  | { readonly type: 'apply-settings' };

export interface KeyResult {
  readonly state: UiState;
  readonly effect?: Effect;
}

export interface KeyContext {
  readonly session: Session;
  readonly layout: Layout;
  /** Where `w` saves by default. */
  readonly defaultPlanPath?: string;
}
