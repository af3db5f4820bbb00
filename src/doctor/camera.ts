import { skip, type DoctorCheck } from './check.js';
export async function cameraDoctor(_o: { allskyDir?: string; probe: boolean }): Promise<DoctorCheck[]> {
  return [skip('camera.setup', 'camera', 'not written yet')];
}
