import { afterEach, describe, expect, it } from 'vitest';
import { HttpSkill } from '../../src/backends/skill.js';
import { ServiceError } from '../../src/backends/service-error.js';
import { ConfigSchema, type SkillConfig } from '../../src/config/schema.js';
import { CanceledError } from '../../src/errors.js';
import { memoryLogger, silentLogger } from '../../src/log/logger.js';
import { FakeSkill, reply, type SkillHandler } from '../fakes/skill.js';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function setup(handler: SkillHandler, config: Partial<SkillConfig> = {}, token?: string, log = silentLogger()) {
  const server = await new FakeSkill(handler).start();
  cleanups.push(() => server.close());
  const base = ConfigSchema.parse({ pipeline: { skill: { url: server.url } } }).pipeline.skill;
  return { server, skill: new HttpSkill({ config: { ...base, ...config }, token, log }) };
}

const req = { transcript: 'what time is it', sessionId: 's1', turnId: 't1' };

async function failure(p: Promise<unknown>): Promise<ServiceError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServiceError);
  return err as ServiceError;
}

describe('HTTP text skill', () => {
  it('posts the transcript, session and turn ids as JSON and reads text and followUp', async () => {
    const { server, skill } = await setup(reply('It is noon. Anything else?', true), { headers: { 'x-home': 'kitchen' } }, 'skill-token-123');
    expect(await skill.ask(req)).toEqual({ text: 'It is noon. Anything else?', followUp: true });
    expect(server.requests[0]!.body).toEqual(req);
    expect(server.requests[0]!.headers['content-type']).toBe('application/json');
    expect(server.requests[0]!.headers.authorization).toBe('Bearer skill-token-123');
    expect(server.requests[0]!.headers['x-home']).toBe('kitchen');
  });

  it('followUp defaults to false', async () => {
    const { skill } = await setup(reply('Done.'));
    expect(await skill.ask(req)).toEqual({ text: 'Done.', followUp: false });
  });

  it('times out with a message naming the setting', async () => {
    const { skill } = await setup(() => {}, { timeoutMs: 150 });
    const err = await failure(skill.ask(req));
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/did not answer within 150 ms \(pipeline\.skill\.timeoutMs\)/);
  });

  it('an HTTP error carries the status and the start of the body', async () => {
    const { skill } = await setup((_b, _r, res) => {
      res.statusCode = 500;
      res.end('database down');
    });
    const err = await failure(skill.ask(req));
    expect(err.message).toMatch(/answered HTTP 500: database down$/);
  });

  it('rejects an answer that is not JSON, or has no text', async () => {
    const a = await setup((_b, _r, res) => res.end('<html>'));
    expect((await failure(a.skill.ask(req))).message).toMatch(/did not answer JSON: <html>/);
    const b = await setup((_b, _r, res) => res.end(JSON.stringify({ reply: 'x' })));
    expect((await failure(b.skill.ask(req))).message).toMatch(/must answer \{"text": string, "followUp"\?: boolean\}; got \{"reply":"x"\}/);
  });

  it('says so when the skill is not running', async () => {
    const { skill, server } = await setup(reply('x'));
    await server.close();
    cleanups = [];
    const err = await failure(skill.ask(req));
    expect(err.kind).toBe('network');
    expect(err.message).toMatch(/cannot reach the skill at http:\/\/127\.0\.0\.1:\d+\/skill \(ECONNREFUSED\)/);
  });

  it('an abort is a CanceledError, not a failure', async () => {
    const { skill } = await setup(() => {});
    const ac = new AbortController();
    const p = skill.ask(req, ac.signal);
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toBeInstanceOf(CanceledError);
  });

  it('never logs the token', async () => {
    const mem = memoryLogger();
    const { skill } = await setup(reply('ok'), {}, 'very-secret-token', mem.logger);
    await skill.ask(req);
    mem.logger.info('probe', { note: 'token very-secret-token' });
    expect(mem.text()).not.toContain('very-secret-token');
  });
});
