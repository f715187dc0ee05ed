// pidusage 4 ships no type declarations; this covers the call the encoder makes.
declare module 'pidusage' {
  interface Stat {
    /** CPU use in percent of one core since the previous call for the same pid. */
    cpu: number;
    /** Resident memory in bytes. */
    memory: number;
    pid: number;
    elapsed: number;
  }
  function pidusage(pid: number): Promise<Stat>;
  export default pidusage;
}
