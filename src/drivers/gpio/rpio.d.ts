// rpio ships no type declarations; RpioModule in rpio-lines.ts types the members we use.
declare module 'rpio';
