/**
 * One home for the test doubles: strict per-instance fakes of every port (in the spirit of
 * serialport's binding-mock), the manual clock, the layers under the board GPIO, and loopback
 * fakes of the remote services. Nothing here is global: each instance keeps its own state.
 * The product (src/) never imports from here.
 */
export { ManualScheduler } from './clock.js';
export { FakeMic } from './mic.js';
export { FakeSpeaker } from './speaker.js';
export { FakeWake } from './wake.js';
export { FakeGpio, LED_STATES } from './gpio.js';
export { FakeKtd, FakeLines, RecordingSpi } from './gpio-lines.js';
export { installGpiodTools, type FakeGpiodTools, type GpiodToolbox } from './gpiod-tools.js';
export { FakeAssemblyAi, type FakeAssemblyAiOptions } from './assemblyai.js';
export { FakeSkill, reply, type SkillHandler } from './skill.js';
export { FakeSlngStt, FakeSlngTts, type FakeSlngSttOptions, type FakeSlngTtsOptions } from './slng.js';
export { FakeSoca, type FakeSocaOptions, type SocaConnection } from './soca.js';
export { MARK, ScriptedEngine } from './porcupine.js';
