/** Placeholder, replaced below. */
export async function findCameraSetup(): Promise<boolean> {
  return false;
}
