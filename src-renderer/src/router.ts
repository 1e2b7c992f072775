import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router';
import ConsumerGroupsView from './views/ConsumerGroupsView.vue';
import MessagesView from './views/MessagesView.vue';
import OverviewView from './views/OverviewView.vue';
import PlaygroundView from './views/PlaygroundView.vue';
import SettingsView from './views/SettingsView.vue';
import TopicsView from './views/TopicsView.vue';
import TraceView from './views/TraceView.vue';
import DeadLettersView from './views/DeadLettersView.vue';
import DelayView from './views/DelayView.vue';
import TransactionsView from './views/TransactionsView.vue';
import BacklogView from './views/BacklogView.vue';

declare module 'vue-router' {
  interface RouteMeta {
    /** vue-i18n key of the page title, shown in the navigation and the page heading. */
    titleKey: string;
  }
}

/** Left navigation, in order. */
export const NAV_ROUTES = [
  { path: '/overview', name: 'overview', component: OverviewView, meta: { titleKey: 'nav.overview' } },
  { path: '/topics', name: 'topics', component: TopicsView, meta: { titleKey: 'nav.topics' } },
  { path: '/consumer-groups', name: 'consumer-groups', component: ConsumerGroupsView, meta: { titleKey: 'nav.consumerGroups' } },
  { path: '/messages', name: 'messages', component: MessagesView, meta: { titleKey: 'nav.messages' } },
  { path: '/trace', name: 'trace', component: TraceView, meta: { titleKey: 'nav.trace' } },
  { path: '/dead-letters', name: 'dead-letters', component: DeadLettersView, meta: { titleKey: 'nav.deadLetters' } },
  { path: '/delay', name: 'delay', component: DelayView, meta: { titleKey: 'nav.delay' } },
  { path: '/transactions', name: 'transactions', component: TransactionsView, meta: { titleKey: 'nav.transactions' } },
  { path: '/backlog', name: 'backlog', component: BacklogView, meta: { titleKey: 'nav.backlog' } },
  { path: '/playground', name: 'playground', component: PlaygroundView, meta: { titleKey: 'nav.playground' } },
  { path: '/settings', name: 'settings', component: SettingsView, meta: { titleKey: 'nav.settings' } },
] satisfies RouteRecordRaw[];

// Hash history: app://console and the headless server both serve one index.html, no rewrites.
export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', redirect: '/overview' },
    ...NAV_ROUTES,
    { path: '/:pathMatch(.*)*', redirect: '/overview' },
  ],
});
