/**
 * The names the plan gives what it creates, by default. Apart from plan.ts so that the command line can show them in
 * its help without loading the planner.
 */
export const DEFAULT_RULE_NAME = 'eoplock - Block mail not from the gateway';
export const DEFAULT_CONNECTOR_NAME = 'eoplock - From the gateway';
