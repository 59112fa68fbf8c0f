import path from 'node:path';
import { GateError, InputError, KilnError, firstLine } from '../../core/errors.js';
import { renderJobSummary, renderPrComment } from '../../core/report/pr-comment.js';
import type { GatesConfig } from '../../core/config-schema.js';
import { judgeWithTrusted } from '../../core/trusted-judging.js';
import type { ActionIO } from '../action-io.js';
import type { CheckConclusion, GitHubApi } from '../github-api.js';
import type { ActionInputs } from '../inputs.js';
import { errorBody, preambleMarkdown, withPreamble, type Preamble } from '../report-body.js';
import { asMatrix, readReportInputs, type ReportInputs } from '../report-inputs.js';
import { artifactSource, reportSubject, type ReportSubject } from '../report-subject.js';
import type { ResultsTransfer } from '../results-transfer.js';
import type { RunContext } from '../run-context.js';
import { DEFAULT_MARKER, upsertStickyComment } from '../sticky-comment.js';
import { readTrustedSettings } from '../trusted-settings.js';

const DEFAULT_LATENCY_GATE = { metric: 'p99', maxRegressionPct: 10, confidence: 0.95 } as const;
const FORKS_DOC = 'docs/forks.md in the kiln Action';

interface Outcome {
  conclusion: CheckConclusion;
  title: string;
  body: string;
  summary: string;
  jobSummary: string;
}

type Deps = {
  inputs: ActionInputs;
  context: RunContext;
  github: GitHubApi;
  transfer: ResultsTransfer;
  io: ActionIO;
  tempDir: string;
};

/**
 * `report`: every build job's results → one sticky PR comment, the job summary, and a check run whose
 * conclusion gates the merge. It fails closed: an error anywhere (no plan, unreadable results, gates
 * that cannot be read from the merge base), a planned target that produced nothing, or a result the
 * merge base's gates cannot judge is a `failure` check that says why. Only a plan that needs nothing
 * ("nothing changed") passes without results. Gates, tolerances and bench settings are the merge
 * base's, never the pull request's own (docs/forks.md, trusted-settings.ts).
 */
export async function reportCommand(deps: Deps): Promise<{ conclusion: string; commentUrl?: string }> {
  const { inputs, context, io } = deps;
  const pr = context.pullRequest;
  if (!context.workflowRun && pr && pr.headRepo !== pr.baseRepo) {
    // A fork's pull_request run holds a read-only token: no comment, no check run, a required check
    // left pending. The report belongs in a workflow_run workflow.
    throw new InputError(
      `report: pull request #${pr.number} comes from fork ${pr.headRepo}, whose pull_request token cannot write checks or comments; report from a workflow_run workflow instead (see ${FORKS_DOC})`,
    );
  }
  let subject: ReportSubject | undefined;
  let outcome: Outcome;
  let error: unknown;
  try {
    const from = artifactSource(context, inputs.githubToken);
    const found = await readReportInputs(
      await deps.transfer.downloadAll(path.join(deps.tempDir, 'kiln-report'), from),
    );
    subject = await reportSubject(context, inputs.base, deps.github, found.planned);
    outcome = await judge(deps, subject, found);
  } catch (caught) {
    error = caught;
    const reason = firstLine(caught);
    const body = errorBody(DEFAULT_MARKER, reason, context.runUrl);
    outcome = { conclusion: 'failure', title: clip(reason), body, summary: body, jobSummary: body };
  }
  const target = subject ?? fallbackSubject(context);
  await io.writeSummary(outcome.jobSummary);
  let commentUrl: string | undefined;
  if (target.pr) {
    try {
      const comment = await upsertStickyComment(deps.github, target.pr, DEFAULT_MARKER, outcome.body);
      commentUrl = comment.html_url;
      io.setOutput('comment-url', commentUrl);
      io.info(`kiln report: ${comment.action} ${commentUrl}`);
    } catch (caught) {
      // The check run still goes on the commit, failed, so a required check is never left pending.
      error ??= caught;
      const reason = `report: could not post the pull request comment: ${firstLine(caught)}`;
      outcome = {
        ...outcome,
        conclusion: 'failure',
        title: clip(reason),
        summary: `${reason}\n\n${outcome.summary}`,
      };
    }
  }
  await deps.github.createCheckRun(context.owner, context.repo, {
    name: 'kiln',
    head_sha: target.headSha,
    conclusion: outcome.conclusion,
    title: outcome.title,
    summary: outcome.summary,
  });
  if (error !== undefined) throw error;
  if (outcome.conclusion === 'failure') throw new GateError(outcome.title);
  return { conclusion: outcome.conclusion, ...(commentUrl ? { commentUrl } : {}) };
}

async function judge(deps: Deps, subject: ReportSubject, found: ReportInputs): Promise<Outcome> {
  const { inputs, context } = deps;
  const plan = inputs.plan ? asMatrix(JSON.parse(inputs.plan), "input 'plan'") : found.plan;
  if (!plan) {
    throw new KilnError(
      "report: no plan: the plan job failed or was skipped (input 'plan' is empty and no kiln-plan artifact was uploaded), so which engines this change needs is unknown",
    );
  }
  const preamble: Preamble = { notices: [], problems: [] };
  let { builds, ab } = found;
  if (subject.fork) {
    // The plan and any results came from the fork's own run, which the fork controls (it can edit
    // the workflow): neither is evidence, not even a plan that says nothing changed.
    builds = [];
    ab = [];
    preamble.problems.push(
      'This pull request comes from a fork: kiln builds nothing from forks (self-hosted runners never run their code) and trusts no plan or result its run uploaded, so its engines are unverified. A maintainer who has reviewed it can push it to a branch of this repository to build and gate it.',
    );
  }
  let gates: GatesConfig;
  if (subject.baseSha && subject.pr) {
    const workspace = process.env.GITHUB_WORKSPACE ?? process.cwd();
    const trusted = await readTrustedSettings(workspace, inputs.config, subject.baseSha, subject.headSha);
    const judged = judgeWithTrusted(builds, ab, trusted.settings);
    ({ builds, ab } = judged);
    preamble.problems.push(...judged.problems);
    preamble.notices.push(...trusted.notices);
    gates = trusted.settings.gates;
  } else {
    // Outside a pull request (a release tag) the pushed commit is the trusted side.
    const latency = ab.flatMap((a) => a.comparisons)[0];
    gates = {
      golden: builds.length > 0 && builds.every((b) => b.gates.golden === 'warn') ? 'warn' : 'fail',
      latency: latency
        ? {
            metric: latency.metric,
            maxRegressionPct: latency.maxRegressionPct,
            confidence: latency.confidence,
          }
        : DEFAULT_LATENCY_GATE,
      int8SlowerThanFp32: builds.some((b) => b.gates.int8Speed === 'fail') ? 'fail' : 'warn',
    };
  }
  for (const f of found.failures) {
    const line = `target ${f.target}${f.model ? ` (model ${f.model})` : ''}: ${f.reason}`;
    // Exit 1 is a gate verdict the results show (and the trusted gates re-judge); anything else is
    // a job that could not build or bench, which fails the gate by itself.
    if (f.exitCode === 1) preamble.notices.push(line);
    else preamble.problems.push(line);
  }
  const plannedNothing = plan.include.length === 0;
  const input = {
    marker: DEFAULT_MARKER,
    builds,
    ab,
    expectedTargets: [...new Set(plan.include.map((j) => j.target))].sort(),
    gates,
    context: {
      headSha: subject.headSha,
      baseRef: subject.baseSha ?? inputs.base,
      runUrl: context.runUrl,
      summaryUrl: context.runUrl,
    },
    plannedNothing,
  };
  const rendered = renderPrComment(input);
  let conclusion: CheckConclusion =
    rendered.conclusion === 'neutral' ? (plannedNothing ? 'success' : 'failure') : rendered.conclusion;
  let title =
    rendered.conclusion === 'neutral' && !plannedNothing
      ? 'no results: the gate cannot pass'
      : rendered.title;
  if (preamble.problems.length > 0) {
    if (conclusion !== 'failure') title = clip(preamble.problems[0]!);
    conclusion = 'failure';
  }
  const top = preambleMarkdown(preamble);
  return {
    conclusion,
    title,
    body: withPreamble(rendered.body, top, DEFAULT_MARKER),
    summary: withPreamble(rendered.summary, top),
    jobSummary: `${top}${renderJobSummary(input)}`,
  };
}

/** Where a report that failed before finding its subject still puts its failure. */
function fallbackSubject(context: RunContext): Pick<ReportSubject, 'headSha' | 'pr'> {
  const pr = context.pullRequest;
  return {
    headSha: context.workflowRun?.headSha ?? pr?.headSha ?? context.sha,
    ...(pr && !context.workflowRun
      ? { pr: { owner: context.owner, repo: context.repo, number: pr.number } }
      : {}),
  };
}

function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}
