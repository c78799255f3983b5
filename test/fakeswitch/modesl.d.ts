declare module "modesl" {
  const esl: {
    Connection: new (
      host: string,
      port: number,
      password: string,
      ready?: () => void,
      // biome-ignore lint/suspicious/noExplicitAny: modesl ships no types; the test uses a handful of calls.
    ) => any;
  };
  export default esl;
}
