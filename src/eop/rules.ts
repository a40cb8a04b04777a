/**
 * Transport (mail flow) rules: priority order, State, Mode, conditions and exceptions, StopRuleProcessing, and
 * the actions that decide delivery. Sources: eop-behaviour.md §4 (S18–S22).
 */
import type { TransportRule } from '../snapshot/schema.js';
import type { Assumptions } from './assumptions.js';
import { evaluatePredicates, isSet, type RuleContext } from './rule-predicates.js';
import type { RuleEvaluation, TraceStep } from './types.js';

export type RuleOutcome =
  | { kind: 'none' }
  | { kind: 'reject'; rule: string; enhanced: string; text: string }
  | { kind: 'delete'; rule: string }
  | { kind: 'quarantine'; rule: string };

export interface RulesResult {
  evaluations: RuleEvaluation[];
  outcome: RuleOutcome;
  scl: number | null;
  incomplete: boolean;
  trace: TraceStep[];
  assumptions: string[];
}

/** Default NDR text when only RejectMessageEnhancedStatusCode is set (S18). */
export const DEFAULT_REJECT_TEXT = 'Delivery not authorized, message refused';

/** Actions other than the ones that decide delivery; reported as present but not emulated. */
const OTHER_ACTIONS = [
  'RedirectMessageTo',
  'RouteMessageOutboundConnector',
  'ModerateMessageByUser',
  'ModerateMessageByManager',
  'AddToRecipients',
  'BlindCopyTo',
  'CopyTo',
  'AddManagerAsRecipientType',
  'GenerateIncidentReport',
  'GenerateNotification',
  'NotifySender',
  'ApplyHtmlDisclaimerText',
  'PrependSubject',
  'SetHeaderName',
  'RemoveHeader',
  'ApplyRightsProtectionTemplate',
  'ApplyOME',
  'RouteMessageOutboundRequireTls',
  'SenderNotificationType',
];

/** The reject reply a rule produces, following S18's code and text rules. */
export function ruleRejectReply(rule: Record<string, unknown>): { enhanced: string; text: string } | null {
  const text = isSet(rule.RejectMessageReasonText) ? String(rule.RejectMessageReasonText) : null;
  const code = isSet(rule.RejectMessageEnhancedStatusCode) ? String(rule.RejectMessageEnhancedStatusCode) : null;
  if (text === null && code === null) return null;
  if (text !== null) return { enhanced: '5.7.1', text };
  return { enhanced: code ?? '5.7.1', text: DEFAULT_REJECT_TEXT };
}

export function evaluateTransportRules(
  rules: readonly TransportRule[],
  context: RuleContext,
  assumptions: Assumptions,
): RulesResult {
  const result: RulesResult = {
    evaluations: [],
    outcome: { kind: 'none' },
    scl: null,
    incomplete: false,
    trace: [],
    assumptions: [],
  };
  const ordered = inPriorityOrder(rules);
  const unmatched: string[] = [];
  const disabled = ordered.filter((rule) => rule.State !== 'Enabled');
  if (disabled.length > 0) {
    result.trace.push({
      step: 'rules',
      detail: `${disabled.length} disabled rule(s) skipped: ${disabled.map((rule) => rule.Name).join(', ')}`,
      sources: ['S18', 'S19', '§4.1'],
    });
  }

  for (const rule of ordered) {
    if (rule.State !== 'Enabled') continue;
    const raw = rule as Record<string, unknown>;
    const conditions = evaluatePredicates(raw, '', context);
    const exceptions = evaluatePredicates(raw, 'ExceptIf', context);
    const notEvaluated = [...conditions, ...exceptions].filter((entry) => entry.matched === null).map((entry) => entry.parameter);
    const reasons = [
      ...conditions.map((entry) => `${entry.matched === null ? '?' : entry.matched ? '✓' : '✗'} condition ${entry.reason}`),
      ...exceptions.map((entry) => `${entry.matched === null ? '?' : entry.matched ? '✓' : '✗'} exception ${entry.reason}`),
    ];
    if (conditions.length === 0) reasons.unshift('no conditions: applies to all messages');

    // All conditions must match; any matching exception prevents the rule (S20, S21).
    let matched: boolean | null;
    if (conditions.some((entry) => entry.matched === false)) matched = false;
    else if (exceptions.some((entry) => entry.matched === true)) matched = false;
    else if (notEvaluated.length > 0) matched = null;
    else matched = true;

    const evaluation: RuleEvaluation = {
      name: rule.Name,
      priority: rule.Priority,
      mode: rule.Mode,
      matched,
      actionTaken: 'none',
      notEvaluated,
      reasons,
    };
    result.evaluations.push(evaluation);

    if (matched === null) {
      result.incomplete = true;
      evaluation.actionTaken = 'unknown: not evaluated';
      result.trace.push({
        step: 'rule',
        detail: `"${rule.Name}" (priority ${rule.Priority}) could not be evaluated: ${notEvaluated.join(', ')}; its actions are not applied`,
        sources: ['S18', 'S21'],
      });
      continue;
    }
    if (!matched) {
      unmatched.push(rule.Name);
      continue;
    }

    const actions = describeActions(raw);
    if (rule.Mode !== 'Enforce') {
      evaluation.actionTaken = `none (${rule.Mode} mode; would: ${actions.join(', ') || 'nothing'})`;
      result.trace.push({
        step: 'rule',
        detail: `"${rule.Name}" matched in ${rule.Mode} mode: logged only, delivery not affected (would: ${actions.join(', ') || 'nothing'})`,
        sources: ['S18', 'S22', '§4.1'],
      });
      if (rule.StopRuleProcessing) {
        result.assumptions.push('audit-mode-stop');
        if (assumptions['audit-mode-stop'] === 'honoured') {
          result.trace.push({ step: 'rule', detail: 'StopRuleProcessing honoured in test mode: later rules skipped', sources: ['S18'], assumptions: ['audit-mode-stop'] });
          break;
        }
      }
      continue;
    }

    evaluation.actionTaken = actions.join(', ') || 'none';
    result.trace.push({
      step: 'rule',
      detail: `"${rule.Name}" (priority ${rule.Priority}) matched in Enforce mode: ${evaluation.actionTaken}`,
      sources: ['S18', '§4.1'],
    });
    if (isSet(raw.SetSCL)) result.scl = Number(raw.SetSCL);

    const reject = ruleRejectReply(raw);
    if (raw.DeleteMessage === true) {
      result.outcome = { kind: 'delete', rule: rule.Name };
      break;
    }
    if (reject) {
      result.outcome = { kind: 'reject', rule: rule.Name, ...reject };
      break;
    }
    if (raw.Quarantine === true) {
      // Quarantine also ends rule evaluation (S18).
      result.outcome = { kind: 'quarantine', rule: rule.Name };
      break;
    }
    if (rule.StopRuleProcessing) {
      result.trace.push({ step: 'rule', detail: `StopRuleProcessing on "${rule.Name}": later rules skipped`, sources: ['S18'] });
      break;
    }
  }
  if (unmatched.length > 0) {
    result.trace.push({
      step: 'rules',
      detail: `${unmatched.length} enabled rule(s) evaluated in priority order did not match` +
        (unmatched.length <= 5 ? `: ${unmatched.map((name) => `"${name}"`).join(', ')}` : ' (see rules for each one\'s reasons)'),
      sources: ['S18', 'S20', 'S21'],
    });
  }
  return result;
}

const orderCache = new WeakMap<readonly TransportRule[], TransportRule[]>();

/** Rules by Priority (0 first), sorted once per snapshot list. */
function inPriorityOrder(rules: readonly TransportRule[]): TransportRule[] {
  let ordered = orderCache.get(rules);
  if (!ordered) {
    ordered = [...rules].sort((a, b) => a.Priority - b.Priority);
    orderCache.set(rules, ordered);
  }
  return ordered;
}

/** The actions a rule configures, in words (a rule's `actionTaken`). */
export function describeActions(rule: Record<string, unknown>): string[] {
  const actions: string[] = [];
  const reject = ruleRejectReply(rule);
  if (rule.DeleteMessage === true) actions.push('delete silently (no NDR)');
  if (reject) actions.push(`reject ${reject.enhanced} "${reject.text}"`);
  if (rule.Quarantine === true) actions.push('quarantine');
  if (isSet(rule.SetSCL)) actions.push(`set SCL ${String(rule.SetSCL)}`);
  for (const name of OTHER_ACTIONS) if (isSet(rule[name])) actions.push(`${name} (not emulated)`);
  if (rule.StopRuleProcessing === true) actions.push('stop processing more rules');
  return actions;
}
