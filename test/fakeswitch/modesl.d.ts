declare module "modesl" {
  const esl: {
    // biome-ignore lint/suspicious/noExplicitAny: modesl ships no types; the test uses a handful of calls.
    Connection: new (
      host: string,
      port: number,
      password: string,
      ready?: () => void,
    ) => any;
  };
  export default esl;
}
