// Resend and export jobs: their latest state (pushed as job:progress events, or fetched), cancel,
// and the finished file (a download in the browser; the desktop saved it where the dialog said).
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { jobsApi } from '../api/ops';
import { subscribe, transportInfo } from '../api';
import type { JobInfo } from '../../../src-main/console/contract/ops-dto';

export const useJobsStore = defineStore('jobs', () => {
  const jobs = ref<Record<string, JobInfo>>({});
  let unsubscribe: (() => void) | null = null;

  function listen(): void {
    if (unsubscribe) return;
    unsubscribe = subscribe('job:progress', (job) => {
      jobs.value = { ...jobs.value, [job.id]: job };
    });
  }

  function track(job: JobInfo): void {
    listen();
    jobs.value = { ...jobs.value, [job.id]: job };
  }

  async function refresh(id: string): Promise<JobInfo> {
    const job = await jobsApi.get(id);
    jobs.value = { ...jobs.value, [id]: job };
    return job;
  }

  async function loadRecent(): Promise<void> {
    listen();
    const list = await jobsApi.list();
    const next = { ...jobs.value };
    for (const j of list) next[j.id] = j;
    jobs.value = next;
  }

  async function cancel(id: string): Promise<void> {
    track(await jobsApi.cancel(id));
  }

  /** Browser: fetch the finished export through a link (the server sends it as an attachment). */
  function download(job: JobInfo): void {
    if (!job.downloadUrl || transportInfo.kind() !== 'ws') return;
    const a = document.createElement('a');
    a.href = job.downloadUrl;
    a.download = job.fileName ?? 'export';
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  return { jobs, track, refresh, loadRecent, cancel, download };
});
