/**
 * eoplock as a library. The core is pure: plain data in, plain data out.
 */
export { decide, headerFields, type DecideOptions } from './eop/decide.js';
export { compile, type CompiledDecideOptions, type CompiledPolicy } from './eop/compile.js';
export type * from './eop/types.js';
export {
  ASSUMPTIONS,
  DEFAULT_ASSUMPTIONS,
  resolveAssumptions,
  type AssumptionDefinition,
  type AssumptionId,
  type Assumptions,
} from './eop/assumptions.js';
export { REPLIES } from './eop/replies.js';
export { SOURCES, GUIDE_ID, citedSourceIds, sourceFooter, type Source } from './eop/sources.js';
export { authenticate, decideAuthenticated, lookUpDmarc } from './dns/authenticate.js';
export { setPublicSuffixLookup, type PublicSuffixLookup } from './mail/dmarc.js';
export type { AuthenticationInput, AuthenticationOutcome, SpfResult } from './eop/authentication.js';
export { parseHeaderBlock, readMessageHeaders } from './headers/parse.js';
export { analyseHeaders, type HeaderAnalysis } from './headers/analyse.js';
export { checkDomain, type DomainReport } from './dns/check.js';
export { snapshotResolver, type DnsResolver } from './dns/resolver.js';
export { liveResolver } from './dns/live-resolver.js';
export { builtinCorpus, corpusOutcome, type CorpusEntry, type CorpusOutcome } from './corpus/builtin.js';
export { parseSnapshot, parseJsonText, type Snapshot, type ParsedSnapshot } from './snapshot/parse.js';
export type { NormalisationNote } from './snapshot/quirks.js';
export { InputError } from './errors.js';
