/** serverless-offline ships no types: the one export the HTTP hook imports, typed where it is used. */
declare module 'serverless-offline/lambda' {
  const Lambda: unknown;
  export default Lambda;
}
