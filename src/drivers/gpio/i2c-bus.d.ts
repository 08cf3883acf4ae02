/** i2c-bus ships no types; the driver narrows it to the I2cBusModule interface in i2c.ts. */
declare module 'i2c-bus';
